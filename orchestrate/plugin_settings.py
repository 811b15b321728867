"""`make plugin-settings`: the Meltano settings of our plugins, written from their `--about`.

Each plugin declares its settings once, in its own code (names, titles, descriptions,
defaults, secrets, bounds); `tap-igdb --about --format=json` and `target-s3 --about
--format=json` print them. This command writes the `settings:` list of
extract/tap-igdb.meltano.yml and load/target-s3.meltano.yml from that output, leaving
the rest of each file (comments, select rules, commands) as it is.

    python -m orchestrate.plugin_settings          # write the definitions
    python -m orchestrate.plugin_settings --check  # exit 1 when they differ

Integer, boolean, options, object and array settings are `kind: string`: Meltano
then passes the value as given and the plugin names a bad one in one line (Meltano's
own cast fails on `abc` with a traceback naming no setting, reads `maybe` as false,
its options check prints a traceback, and so does its JSON parse of `{oops`). A
mapping written in meltano.yml still reaches the plugin as a mapping.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

ROOT = Path(__file__).resolve().parents[1]

STRING_KIND_NOTES = {
    "integer": "an integer",
    "boolean": "true or false",
    "object": "a JSON object",
    "array": "a JSON array",
}


@dataclass(frozen=True)
class Plugin:
    """One of our plugins: its executable and its Meltano definition file."""

    executable: str
    definition: Path
    # Values the Meltano project sets where the plugin's own default would not do.
    values: Mapping[str, str] = field(default_factory=dict)


PLUGINS = (
    Plugin("tap-igdb", ROOT / "extract" / "tap-igdb.meltano.yml"),
    Plugin(
        "target-s3",
        ROOT / "load" / "target-s3.meltano.yml",
        # The dev lake sits under the project, wherever Meltano is started from.
        values={"local_path": "$MELTANO_PROJECT_ROOT/output/lake"},
    ),
)


def about(executable: str) -> dict[str, Any]:
    """The plugin's `--about --format=json` (no settings needed)."""
    binary = Path(sys.executable).with_name(executable)
    completed = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [str(binary), "--about", "--format=json"], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"plugin_settings: `{executable} --about` failed: {last}")
    document: dict[str, Any] = json.loads(completed.stdout)
    return document


def meltano_setting(name: str, spec: Mapping[str, Any], values: Mapping[str, str]) -> CommentedMap:
    """One Meltano setting from the plugin's JSON schema of it."""
    kinds = spec.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else [kind for kind in kinds if kind != "null"]
    kind = kinds[0] if kinds else "string"
    setting = CommentedMap()
    setting["name"] = name
    if spec.get("format") == "date-time":
        setting["kind"] = "date_iso8601"
    elif kind in STRING_KIND_NOTES:
        setting["kind"] = "string"
        setting.yaml_add_eol_comment(STRING_KIND_NOTES[kind], "kind")
    elif "enum" in spec:
        # Not `kind: options`: Meltano's own check of those prints a traceback.
        setting["kind"] = "string"
        setting.yaml_add_eol_comment("one of " + ", ".join(map(str, spec["enum"])), "kind")
    else:
        setting["kind"] = "string"
    if spec.get("secret"):
        setting["sensitive"] = True
    setting["label"] = spec.get("title", name)
    setting["description"] = spec.get("description", "")
    if name in values:
        setting["value"] = values[name]
    elif spec.get("default") not in (None, ""):
        setting["value"] = spec["default"]
    return setting


def settings_of(plugin: Plugin) -> CommentedSeq:
    properties = about(plugin.executable)["settings"]["properties"]
    settings = CommentedSeq()
    # Every setting --about lists, the SDK's built-in ones (stream maps, flattening,
    # batch_config) included: each plugin advertises only what it honours.
    for name, spec in properties.items():
        settings.append(meltano_setting(name, spec, plugin.values))
    return settings


def rendered(plugin: Plugin) -> tuple[str, str]:
    """(the definition file as it is, as it should be)."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # one line per description, as written by hand
    yaml.indent(mapping=2, sequence=4, offset=2)
    current = plugin.definition.read_text(encoding="utf-8")
    document = yaml.load(current)
    (definition,) = [p for kind in document["plugins"].values() for p in kind]
    definition["settings"] = settings_of(plugin)
    out = io.StringIO()
    yaml.dump(document, out)
    return current, out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a definition differs")
    args = parser.parse_args(argv)
    stale = []
    for plugin in PLUGINS:
        current, wanted = rendered(plugin)
        if current == wanted:
            continue
        stale.append(plugin)
        if not args.check:
            plugin.definition.write_text(wanted, encoding="utf-8")
            print(f"wrote {plugin.definition.relative_to(ROOT)}")
    if args.check and stale:
        for plugin in stale:
            path = plugin.definition.relative_to(ROOT)
            print(f"plugin_settings: {path} differs from `{plugin.executable} --about`")
        print("plugin_settings: run `make plugin-settings` and commit the result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
