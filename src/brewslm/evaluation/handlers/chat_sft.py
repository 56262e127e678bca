"""chat_sft handler: perplexity of held-out conversations' assistant turns.

Scored like language_modeling (``PerplexityHandler``: ``{"nll", "tokens"}`` predictions, token-
weighted ``perplexity``, ``nll_per_token``, ``tokens``), where a conversation's tokens are every
assistant turn and its end-of-turn token, each given the conversation before it - the tokens chat
training learns from. The reference text (``gold``) is the final assistant reply: what a generated
reply to the conversation's prompt is compared with (``length_ratio``, when the prediction carries
the generated ``"text"``).

The service adds the pairwise LLM-judge win rate of the fine-tune against its base
(``prediction.judge``) to the report when configured; it is not a per-example statistic here.
"""

from __future__ import annotations

from typing import Any, Mapping

from brewslm.evaluation.handlers.language_modeling import PerplexityHandler
from brewslm.tasks.messages import ASSISTANT


class ChatSftHandler(PerplexityHandler):
    task = "chat_sft"

    def gold(self, record: Mapping[str, Any]) -> str:
        """The final assistant reply."""
        return [m for m in record["messages"] if m["role"] == ASSISTANT][-1]["content"]


HANDLER = ChatSftHandler

__all__ = ["HANDLER", "ChatSftHandler"]
