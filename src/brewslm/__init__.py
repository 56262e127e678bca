"""BrewSLM: from messy domain data to a small language model you can trust and ship."""

__version__ = "0.1.0"
