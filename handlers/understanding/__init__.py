"""Offline understanding of a rep's message: customer, action type, dates, money, people, keywords.

``understand(text, now, directory)`` is the rules path (pure, fast, never raises);
``understand_with_llm`` optionally asks an OpenAI-compatible model and falls back to the rules.
"""

from .directory import Customer, Directory, load_customers_csv
from .llm import LLMSettings, understand_with_llm
from .tagger import CONTRACT_FIELDS, Understanding, understand

__all__ = [
    "CONTRACT_FIELDS",
    "Customer",
    "Directory",
    "LLMSettings",
    "Understanding",
    "load_customers_csv",
    "understand",
    "understand_with_llm",
]
