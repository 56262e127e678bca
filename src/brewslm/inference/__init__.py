"""Running a model: the layer training, evaluation and serving import down into.

Below ``training``: the forward pass pieces (``forward``), encoding a rendering into token ids with
its trained mask (``encoding``), batching encoded examples into tensors (``batching``) and the chat
templates (``chat_templates``) that training's loss and every scorer share. Above it, the
prediction strategies - how a model's answers to a dataset's prompts are obtained for scoring:

Every strategy starts from the task profile's rendering of a record (``profile.render``) and
conditions the model on exactly the prompt tokens training used (``prompts``). Which one a task
uses is its handler's choice (``EvalHandler.strategies``):

- label scoring (``score_labels``): the log-likelihood of every candidate label as the reply;
  classification's default - one forward per example, calibrated probabilities, a confidence.
- generation (``generate``): batched greedy / sampled decoding with a KV cache, optionally
  constrained to a JSON schema (``JsonConstraint``), a regular expression (``RegexConstraint``) or
  a few strings (``ChoiceConstraint``), on llguidance; the handler's ``parse`` reads the reply.
  ``generate_one_by_one`` is the naive per-example baseline the speed benchmark compares with.
- preference (``preference_scores``) and perplexity (``sequence_scores``): summed log-probs of
  reference replies / text, on the tokens training learns from.
- the pairwise judge (``judge_pairwise``): a local model's P(reply A is better), both orders averaged.
- the grounding judge (``judge_support``): a local model's P(an answer sentence is supported by
  its passages), for rag_qa's ``faithfulness: llm_judge``.

Every function takes ``progress(done, total)`` (examples), runs the model in eval mode without
gradients, and works with plain and peft models.
"""

from brewslm.inference.constrained import ChoiceConstraint, JsonConstraint, RegexConstraint
from brewslm.inference.generation import Generation, generate, generate_one_by_one
from brewslm.inference.grounding import judge_support, support_prompt
from brewslm.inference.judge import judge_pairwise, judge_prompt, win_rates
from brewslm.inference.label_scoring import LabelScores, score_labels
from brewslm.inference.prompts import ProgressFn, end_of_turn_ids, prompt_ids
from brewslm.inference.sequence_scores import (
    PreferenceScore,
    SequenceScore,
    preference_scores,
    sequence_scores,
)

__all__ = [
    "ChoiceConstraint",
    "Generation",
    "JsonConstraint",
    "LabelScores",
    "PreferenceScore",
    "RegexConstraint",
    "ProgressFn",
    "SequenceScore",
    "end_of_turn_ids",
    "generate",
    "generate_one_by_one",
    "judge_pairwise",
    "judge_prompt",
    "judge_support",
    "preference_scores",
    "prompt_ids",
    "score_labels",
    "sequence_scores",
    "support_prompt",
    "win_rates",
]
