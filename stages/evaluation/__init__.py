"""The evaluate stage's parts: scoring on the test set and the loss figure."""
