"""A typed web form generated from an options model (``TrainConfig``, ``EvalConfig``), the form's
submission read back into that model, and the job a valid submission starts.

    form = options_form(TrainConfig, display_values(TrainConfig, recipe_defaults), primary=("dataset", "epochs"))
    config, raw, errors = read_options_form(TrainConfig, await request.form())
    submission = await submit_options_form(request, TrainConfig, start_training)   # .job_id, or .errors

Each leaf option (``describe_options``: dotted name, default, help) becomes one input whose kind
follows its annotation: a ``Literal`` is a select, a ``bool`` a checkbox, an ``int``/``float`` a
number, a ``str`` a text box, a ``list[str]`` (gates) a text area of one item per line, and
anything else (dicts, ``str | list``) a text box read as YAML - the same reading ``KEY=VALUE``
overrides get on the command line (``parse_override``). A blank input means "unset" for an
optional option and "the default" for the others.

Validation is the model's own (pydantic, ``extra="forbid"``), so the form accepts exactly what
the CLI and the YAML files accept; its errors come back per option name (``"lora.r"``), and a
whole-config error (a ``model_validator``) under ``""``.
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Sequence, TypeVar

from pydantic import BaseModel, ValidationError

from brewslm.errors import BrewError, ConfigError
from brewslm.options import describe_options, parse_override
from brewslm.ui import jobs
from brewslm.ui.settings import UISettings

Options = TypeVar("Options", bound=BaseModel)

FORM_ERROR = ""  # the errors key of a whole-config error (no single option at fault)
Widget = Literal["select", "checkbox", "number", "text", "lines", "yaml"]


@dataclass(frozen=True)
class FormField:
    """One option's input: ``name`` is the dotted option name and the input's name."""

    name: str
    help: str
    widget: Widget
    value: str  # what the input shows ("" = unset / default); a checkbox: "true" when ticked
    choices: tuple[str, ...] = ()  # select only
    optional: bool = False  # blank means unset (None)
    required: bool = False
    step: str = "any"  # number only: "1" for integers
    minimum: float | None = None  # number only: the model's ge / le bounds, so the browser checks them too
    maximum: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class FieldGroup:
    """A section of the form: the top-level options, or one nested section (``lora``...)."""

    title: str
    help: str
    fields: list[FormField]


@dataclass(frozen=True)
class OptionsForm:
    primary: list[FormField]  # shown first, outside the "all options" part
    groups: list[FieldGroup]  # every other option, by section
    error: str | None = None  # a whole-config error
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def fields(self) -> list[FormField]:
        return self.primary + [f for group in self.groups for f in group.fields]

    @property
    def advanced_errors(self) -> bool:
        """An option outside ``primary`` has an error (its part of the form opens)."""
        return any(f.error for group in self.groups for f in group.fields)


# --- the schema --------------------------------------------------------------------------------


def _annotation(model: type[BaseModel], dotted: str) -> Any:
    """The annotation of a dotted option (``lora.r`` -> ``int``)."""
    head, _, rest = dotted.partition(".")
    annotation = model.model_fields[head].annotation
    return _annotation(annotation, rest) if rest else annotation


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """``Optional[X]`` -> ``(X, True)``; other annotations -> ``(annotation, False)``."""
    if typing.get_origin(annotation) is typing.Union or type(annotation).__name__ == "UnionType":
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) < len(typing.get_args(annotation)):
            return (args[0] if len(args) == 1 else typing.Union[tuple(args)]), True
    return annotation, False


def _widget(annotation: Any) -> tuple[Widget, tuple[str, ...], str]:
    """(widget, select choices, number step) for a (non-optional) annotation."""
    if typing.get_origin(annotation) is Literal:
        return "select", tuple(str(choice) for choice in typing.get_args(annotation)), "any"
    if annotation is bool:
        return "checkbox", (), "any"
    if annotation is int:
        return "number", (), "1"
    if annotation is float:
        return "number", (), "any"
    if annotation is str:
        return "text", (), "any"
    if typing.get_origin(annotation) is list and typing.get_args(annotation) == (str,):
        return "lines", (), "any"
    return "yaml", (), "any"


def _bounds(model: type[BaseModel], dotted: str) -> tuple[float | None, float | None]:
    """The inclusive bounds (``ge``, ``le``) pydantic checks on an option."""
    head, _, rest = dotted.partition(".")
    info = model.model_fields[head]
    if rest:
        return _bounds(info.annotation, rest)
    low = next((m.ge for m in info.metadata if getattr(m, "ge", None) is not None), None)
    high = next((m.le for m in info.metadata if getattr(m, "le", None) is not None), None)
    return low, high


def _section_help(model: type[BaseModel], section: str) -> str:
    return model.model_fields[section].description or ""


# --- values ------------------------------------------------------------------------------------


def _lookup(data: Mapping[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def display_value(value: Any, widget: Widget = "text") -> str:
    """An option's value as its input shows it: unset/empty is blank, a list of lines one per
    line, other lists and dicts JSON (valid YAML flow), booleans ``true``/``false``."""
    if value is None or value == [] or value == {}:
        return ""
    if widget == "lines" and isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def display_values(model: type[BaseModel], values: Mapping[str, Any] | BaseModel | None = None) -> dict[str, str]:
    """``{dotted option: input text}`` for every leaf option: ``values`` (a nested dict or a model)
    where they set it, else the option's default."""
    data = values.model_dump(mode="json") if isinstance(values, BaseModel) else dict(values or {})
    shown: dict[str, str] = {}
    for option in describe_options(model):
        value = _lookup(data, option["name"])
        widget = _widget(_unwrap_optional(_annotation(model, option["name"]))[0])[0]
        shown[option["name"]] = display_value(value if value is not None else option["default"], widget)
    return shown


def options_form(
    model: type[BaseModel],
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    *,
    primary: Sequence[str] = (),
) -> OptionsForm:
    """The form of ``model``: ``values`` are input texts by option name (``display_values`` or a
    submitted form), ``errors`` by option name; ``primary`` options come first, in that order."""
    errors = dict(errors or {})
    built: dict[str, FormField] = {}
    for option in describe_options(model):
        name = option["name"]
        annotation, optional = _unwrap_optional(_annotation(model, name))
        widget, choices, step = _widget(annotation)
        low, high = _bounds(model, name) if widget == "number" else (None, None)
        built[name] = FormField(
            name=name,
            help=option["help"],
            widget=widget,
            value=values.get(name, ""),
            choices=choices,
            optional=optional,
            required=option["required"],
            step=step,
            minimum=low,
            maximum=high,
            error=errors.get(name),
        )
    first = [built[name] for name in primary if name in built]
    groups: dict[str, FieldGroup] = {}
    for name, form_field in built.items():
        if name in primary:
            continue
        section = name.rpartition(".")[0]
        if section not in groups:
            groups[section] = FieldGroup(section, _section_help(model, section) if section else "", [])
        groups[section].fields.append(form_field)
    return OptionsForm(first, list(groups.values()), errors.get(FORM_ERROR), errors)


# --- reading a submitted form ------------------------------------------------------------------


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *sections, leaf = dotted.split(".")
    node = data
    for section in sections:
        node = node.setdefault(section, {})
    node[leaf] = value


def form_data(model: type[BaseModel], submitted: Mapping[str, str]) -> dict[str, Any]:
    """The nested options dict a submitted form means (see the module docstring for blanks)."""
    data: dict[str, Any] = {}
    for option in describe_options(model):
        name = option["name"]
        annotation, optional = _unwrap_optional(_annotation(model, name))
        widget, _, _ = _widget(annotation)
        if widget == "checkbox":  # an unticked box is not submitted at all
            _set(data, name, str(submitted.get(name, "")).lower() in ("true", "on", "1", "yes"))
            continue
        raw = str(submitted.get(name, "")).strip()
        if not raw:
            if optional:
                _set(data, name, None)
            continue
        if widget == "lines":
            _set(data, name, [line.strip() for line in raw.splitlines() if line.strip()])
        elif widget in ("number", "yaml"):
            _set(data, name, parse_override(f"{name}={raw}")[1])
        else:  # text and select are strings as typed ("007" stays a name, not a number)
            _set(data, name, raw)
    return data


def validation_errors(exc: ValidationError) -> dict[str, str]:
    """pydantic's errors by dotted option name (``""`` for a whole-config error), first per name."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        where = ".".join(str(part) for part in err.get("loc", ()))
        message = "is required" if err.get("type") == "missing" else str(err.get("msg", "is invalid"))
        errors.setdefault(where, message.removeprefix("Value error, "))
    return errors


def check_path_options(config: BaseModel, names: Sequence[str], settings: UISettings) -> None:
    """Options of ``config`` that name local files or folders must resolve inside the UI's allowed
    roots (``access.check_path``, as import locators do), else a one-line ``ConfigError``. A value
    with no path separator and no leading ``.``/``~`` is a name (a run, a dataset, a hub model)."""
    from brewslm.ui.access import check_path

    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, str) and ("/" in value or "\\" in value or value.startswith((".", "~"))):
            check_path(value, settings, what=f"option '{name}':")


def read_options_form(
    model: type[Options], submitted: Mapping[str, str]
) -> tuple[Options | None, dict[str, str], dict[str, str]]:
    """``(options or None, the submitted input texts by option name, errors by option name)``."""
    texts = {option["name"]: str(submitted.get(option["name"], "")) for option in describe_options(model)}
    try:
        return model.model_validate(form_data(model, submitted)), texts, {}
    except ValidationError as exc:
        return None, texts, validation_errors(exc)


# --- the job a submitted form starts -------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """A submitted options form: the job it started, or the texts to show again with the errors."""

    job_id: int | None
    texts: dict[str, str]
    errors: dict[str, str]
    submitted: dict[str, str]


async def submit_options_form(request: Any, model: type[Options], start: Callable[[Options], int]) -> Submission:
    """Read ``request``'s form into ``model``; a valid one is passed to ``start`` (which checks what
    it needs and queues the job: its id); a ``BrewError`` from it is the form's error."""
    submitted = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    config, texts, errors = read_options_form(model, submitted)
    if config is not None:
        try:
            return Submission(start(config), texts, {}, submitted)
        except BrewError as exc:
            errors = {FORM_ERROR: str(exc)}
    return Submission(None, texts, errors, submitted)


def job_of_kind(job_id: int, kind: str, noun: str) -> jobs.JobInfo:
    """Job ``job_id`` when it is a ``kind`` job; else a one-line error (a URL of
    one tab never shows another tab's job)."""
    job = jobs.get_job(job_id)
    if job.kind != kind:
        raise ConfigError(f"job {job_id} is a {job.kind} job, not {noun}; see /jobs")
    return job


__all__ = [
    "FORM_ERROR",
    "Submission",
    "job_of_kind",
    "submit_options_form",
    "check_path_options",
    "FieldGroup",
    "FormField",
    "OptionsForm",
    "display_value",
    "display_values",
    "form_data",
    "options_form",
    "read_options_form",
    "validation_errors",
]
