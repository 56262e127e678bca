"""export/modelfile.py: the Ollama Modelfile written beside a GGUF export."""

from __future__ import annotations

import pytest

from brewslm.export.modelfile import GO_TEMPLATES, modelfile_text, template_family
from helpers.tiny_architectures import GEMMA2_TEMPLATE, LLAMA3_TEMPLATE, MISTRAL_TEMPLATE
from helpers.tiny_model import CHATML_TEMPLATE


@pytest.mark.parametrize(
    "template, family",
    [
        (CHATML_TEMPLATE, "chatml"),
        (LLAMA3_TEMPLATE, "llama3"),
        (GEMMA2_TEMPLATE, "gemma"),
        (MISTRAL_TEMPLATE, "mistral"),
        ("{% for m in messages %}<|user|>\n{{ m.content }}<|end|>{% endfor %}", "phi"),
        ("{{ messages }}", None),
        (None, None),
    ],
)
def test_the_family_is_read_off_the_markers_the_template_emits(template, family):
    assert template_family(template) == family


def test_a_chatml_model_gets_its_go_template_stops_context_and_greedy_decoding():
    text = modelfile_text(
        "intent-q8_0.gguf",
        chat_template=CHATML_TEMPLATE,
        eos_token="<|im_end|>",
        context_length=8192,
        generation={"do_sample": False, "temperature": 0.7},
    )
    lines = text.splitlines()
    assert lines[1] == "FROM ./intent-q8_0.gguf"
    assert f'TEMPLATE """{GO_TEMPLATES["chatml"][0]}"""' in text
    assert [line for line in lines if line.startswith("PARAMETER")] == [
        'PARAMETER stop "<|im_end|>"',
        "PARAMETER num_ctx 8192",
        "PARAMETER temperature 0",
    ]


def test_sampling_settings_come_from_the_generation_config_and_the_context_is_capped():
    text = modelfile_text(
        "m.gguf",
        chat_template=LLAMA3_TEMPLATE,
        eos_token="<|end_of_text|>",
        context_length=131072,
        generation={"do_sample": True, "temperature": 0.6, "top_p": 0.9},
    )
    assert 'PARAMETER stop "<|eot_id|>"\nPARAMETER stop "<|end_of_text|>"' in text
    assert "PARAMETER num_ctx 8192" in text and "PARAMETER temperature 0.6\nPARAMETER top_p 0.9" in text


def test_an_unknown_template_is_left_to_ollama_and_the_file_says_so():
    text = modelfile_text("m.gguf", chat_template="{{ messages }}", eos_token='</s"x>', context_length=None)
    assert "TEMPLATE" not in text.replace("no TEMPLATE", "") and "Ollama detects one from the GGUF" in text
    assert 'PARAMETER stop "</s\\"x>"' in text
