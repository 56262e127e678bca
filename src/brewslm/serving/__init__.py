"""Serving: fine-tunes behind an OpenAI-compatible HTTP API with task endpoints (``brewslm serve``).

- ``served``: ``ServedModels.load(specs)`` - the served ids, LoRA adapters over one base sharing
  it, each with its tokenizer, task profile, reply reader and retriever.
- ``engine``: ``Engine`` - one worker thread runs every model call; concurrent requests are
  batched dynamically; streaming with cancellation; label scoring.
- ``app`` (FastAPI routes, ``create_app``), ``settings``, ``errors``, ``metrics``: the HTTP side.
- ``local``: ``running_server(app)`` - an app under uvicorn on a free loopback port, in a thread
  (tests and ``bench/serve_load.py``).
"""

from brewslm.serving.engine import Engine, EngineStopped, GenerateRequest, GenerateResult, TextStream
from brewslm.serving.local import running_server
from brewslm.serving.served import ModelNotFound, ServedModel, ServedModels

__all__ = [
    "Engine",
    "EngineStopped",
    "GenerateRequest",
    "GenerateResult",
    "ModelNotFound",
    "ServedModel",
    "ServedModels",
    "TextStream",
    "running_server",
]
