"""Pure metric functions behind the evaluation handlers: no models, no files, no state.

Every handler turns an example into *additive* statistics and its metrics into a function of their
sums (see ``evaluation.handlers.base``); the functions here are those two halves, per task family.

- ``common``: what every handler shares - ``length_stats`` / ``example_stats`` (characters of the
  prediction and the reference, ``examples``, ``unparseable``), ``shared_metrics``
  (``length_ratio``, ``unparseable_rate``), ``ratio`` (None when undefined), ``prf`` (precision,
  recall, F1 with sklearn's ``zero_division=0``) and the per-label ``"tp:<label>"`` counts with
  their per-label table and micro / macro / weighted averages.
- ``classification``: accuracy, per-class and averaged P/R/F1 equal to sklearn's
  ``classification_report``, the confusion matrix, the majority-label baseline.
- ``spans``: span_set scoring - strict ``(type, start, end)`` set match, relaxed overlap match,
  seqeval entity F1 over IOB2 tags.
- ``text``: SQuAD-normalised exact match and token F1 (qa, rag_qa answers).
- ``json_fields``: schema validity, per-field comparison with normalisation options (field_match).
- ``faithfulness``: judged passage support of answer sentences (rag_qa's ``llm_judge``).
- ``tool_calls``: tool-name and argument accuracy, the whole decision (tool_call).

Reading a reply - the label, the JSON, the call, a refusal - and the lexical support of an answer
are the task's, not a metric's: ``tasks`` (each profile's ``ReplyReader``, ``tasks.replies``), so
the server reads replies as evaluation does.
"""
