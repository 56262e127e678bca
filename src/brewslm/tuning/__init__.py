"""Choosing how to train: a bounded hyper-parameter search on the validation split (``search``) and
the model recommendation (``recommend``). This layer sits above training and evaluation (it trains
candidates and scores them with the task's metric) and below recipes and the CLI."""
