"""The report stage's parts: reading the runs' records, statistics, tables, figures and the summary."""
