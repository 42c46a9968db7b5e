"""Render the Helm chart without helm: the subset of Go templates deploy/helm/ is written in.

Supported, and nothing else (anything else raises, so the chart cannot drift into what this test
cannot check): `{{ .Release.Name }}`, `{{ .Chart.Name }}`, `{{ .Values.a.b }}`, the pipes `| quote`
and `toYaml X | nindent N`, `{{- if X }} ... {{- end }}`, and the `{{-` / `-}}` whitespace trims.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

_ACTION = re.compile(r"{{(-?)\s*(.*?)\s*(-?)}}", re.DOTALL)


class UnsupportedTemplate(ValueError):
    pass


def _lookup(path: str, context: dict[str, Any]) -> Any:
    if not path.startswith("."):
        raise UnsupportedTemplate(f"not a value path: {path}")
    value: Any = context
    for part in path[1:].split("."):
        if not isinstance(value, dict) or part not in value:
            raise UnsupportedTemplate(f"{path}: {part} is not set")
        value = value[part]
    return value


def _evaluate(expression: str, context: dict[str, Any]) -> str:
    stages = [stage.strip() for stage in expression.split("|")]
    head = stages[0].split()
    if head[0] == "toYaml" and len(head) == 2:
        value: Any = yaml.safe_dump(
            _lookup(head[1], context), default_flow_style=False, sort_keys=False
        ).rstrip()
    elif len(head) == 1:
        value = _lookup(head[0], context)
    else:
        raise UnsupportedTemplate(expression)
    for stage in stages[1:]:
        name, *args = stage.split()
        if name == "quote" and not args:
            value = json.dumps(str(value))
        elif name == "nindent" and len(args) == 1:
            pad = " " * int(args[0])
            value = "\n" + "\n".join(pad + line if line else line for line in str(value).splitlines())
        else:
            raise UnsupportedTemplate(stage)
    return str(value)


def render(text: str, context: dict[str, Any]) -> str:
    out: list[str] = []
    emitting = [True]
    position = 0
    pending_trim = False
    for match in _ACTION.finditer(text):
        literal = text[position : match.start()]
        if pending_trim:
            literal = literal.lstrip()
        if match.group(1):
            literal = literal.rstrip()
        if all(emitting):
            out.append(literal)
        action = match.group(2)
        if action.startswith("if "):
            emitting.append(bool(_lookup(action[3:].strip(), context)))
        elif action == "end":
            if len(emitting) == 1:
                raise UnsupportedTemplate("end without if")
            emitting.pop()
        elif action.startswith(("#", "/*")):
            pass
        elif all(emitting):
            out.append(_evaluate(action, context))
        pending_trim = bool(match.group(3))
        position = match.end()
    tail = text[position:]
    out.append(tail.lstrip() if pending_trim else tail)
    if len(emitting) != 1:
        raise UnsupportedTemplate("if without end")
    return "".join(out)


def render_chart(
    chart: Path, *, release: str = "strongroom", values: dict[str, Any] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every template rendered and parsed: file name -> its YAML documents (empty ones dropped)."""
    merged = yaml.safe_load((chart / "values.yaml").read_text())
    for key, value in (values or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    context = {
        "Values": merged,
        "Release": {"Name": release, "Namespace": "default"},
        "Chart": {"Name": meta["name"]},
    }
    rendered = {}
    for template in sorted((chart / "templates").glob("*.yaml")):
        documents = [d for d in yaml.safe_load_all(render(template.read_text(), context)) if d]
        rendered[template.name] = documents
    return rendered
