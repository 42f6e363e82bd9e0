"""The pull-request review: params, metrics and McNemar tests of a branch against its base.

Standard library only: the PR workflow installs DVC, not the scientific stack.
`stages.tools.pr_report` is its command line.
"""
