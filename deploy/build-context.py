#!/usr/bin/env python3
"""Copies into DEST exactly the files deploy/Dockerfile's build stage copies, as BuildKit would.

    python3 deploy/build-context.py DEST

No Docker engine is needed: `.ci/run` builds in DEST what the image builds, so a file the
Dockerfile (or its dockerignore) leaves out fails CI instead of the first `docker build`.

The context BuildKit sends is taken as the repository's files as git sees them (tracked, or
untracked and not ignored) that deploy/Dockerfile.dockerignore lets through, by Docker's rules
(last matching line wins, `!` re-includes, a pattern that matches a directory matches everything
under it, `*` and `?` stop at `/`, `**` crosses it). DEST then holds what each `COPY` of the first stage puts under
that stage's WORKDIR. Anything this script does not model (ADD, a RUN bind mount, wildcards, a
COPY outside the WORKDIR or from the context in a later stage) is an error, so the check cannot
silently drift.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKERFILE = os.path.join(ROOT, "deploy", "Dockerfile")
DOCKERIGNORE = os.path.join(ROOT, "deploy", "Dockerfile.dockerignore")
# COPY flags that do not change which files are copied or where.
HARMLESS_FLAGS = ("--chown=", "--chmod=", "--link")


class Unsupported(Exception):
    """A Dockerfile or dockerignore construct this check does not model."""


def instructions(text):
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    logical, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    if current:
        logical.append(current)
    result = []
    for line in logical:
        keyword, _, arguments = line.strip().partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    return result


def copy_arguments(arguments):
    """A COPY's (flags, sources, destination), in shell or JSON form."""
    leading = re.match(r"(?:--\S+\s+)*", arguments).group()
    flags, rest = leading.split(), arguments[len(leading) :]
    words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
    if len(words) < 2:
        raise Unsupported(f"COPY {arguments}: needs a source and a destination")
    return flags, words[:-1], words[-1]


def build_stage_copies(text):
    """The first stage's WORKDIR and its (sources, destination) copies from the context."""
    stage, workdir, copies = 0, "/", []
    for keyword, arguments in instructions(text):
        if keyword == "FROM":
            stage += 1
        elif keyword == "WORKDIR" and stage == 1:
            workdir = os.path.normpath(os.path.join(workdir, arguments))
        elif keyword == "ADD":
            raise Unsupported(f"ADD {arguments}: use COPY")
        elif keyword == "RUN" and any(
            "type=" not in mount or "type=bind" in mount
            for mount in re.findall(r"--mount=(\S+)", arguments)
        ):
            raise Unsupported(f"RUN {arguments}: a bind mount reads the context without a COPY")
        elif keyword == "COPY":
            flags, sources, destination = copy_arguments(arguments)
            if any(flag.startswith("--from") for flag in flags):
                continue
            unknown = [flag for flag in flags if not flag.startswith(HARMLESS_FLAGS)]
            if unknown or stage != 1:
                raise Unsupported(f"COPY {arguments}: only plain COPYs in the first stage")
            copies.append((sources, destination, workdir))
    return workdir, copies


def pattern_regex(pattern):
    """A dockerignore pattern as a regex (Go's filepath.Match, plus `**`)."""
    regex, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            regex += ".*"
            i += 2
            if pattern.startswith("/", i):
                regex, i = regex[:-2] + "(.*/)?", i + 1
            continue
        if char == "*":
            regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif char == "[":
            end = pattern.find("]", i)
            if end < 0:
                raise Unsupported(f"dockerignore pattern {pattern!r}: unclosed [")
            regex += pattern[i : end + 1].replace("[!", "[^").replace("[^^", "[^")
            i = end
        elif char == "\\":
            i += 1
            regex += re.escape(pattern[i : i + 1])
        else:
            regex += re.escape(char)
        i += 1
    return re.compile(regex + r"\Z")


def dockerignore_rules(text):
    """The dockerignore's (regex, re-includes) rules, in order."""
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = os.path.normpath(line[1:].strip() if include else line).lstrip("/")
        rules.append((pattern_regex(pattern), include))
    return rules


def sent(path, rules):
    """Whether BuildKit sends `path`: the last rule matching it or a parent directory wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for regex, include in rules:
        if include != excluded:
            continue
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not include
    return not excluded


def context_files(rules):
    """The files BuildKit sends, as paths relative to the repository root."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    paths = [path for path in listed.split("\0") if path]
    return sorted(
        path
        for path in paths
        if os.path.isfile(os.path.join(ROOT, path)) and sent(path, rules)
    )


def plan(workdir, copies, files):
    """(source file, path under DEST) for every file the COPYs place under the WORKDIR."""
    placed = []
    for sources, destination, copy_workdir in copies:
        target = os.path.normpath(os.path.join(copy_workdir, destination))
        into_directory = destination.endswith("/") or len(sources) > 1
        for source in sources:
            if any(char in source for char in "*?["):
                raise Unsupported(f"COPY source {source!r}: wildcards are not modelled")
            source = os.path.normpath(source).lstrip("/")
            prefix = "" if source == "." else source + "/"
            if source in files:
                name = os.path.basename(source)
                placed.append((source, os.path.join(target, name) if into_directory else target))
                continue
            under = [path for path in files if path.startswith(prefix)]
            if not under:
                sys.exit(
                    f"build-context: COPY {source}: not in the build context "
                    f"(missing, or left out by {os.path.relpath(DOCKERIGNORE, ROOT)})"
                )
            placed.extend((path, os.path.join(target, path[len(prefix) :])) for path in under)
    result = []
    for source, destination in placed:
        relative = os.path.relpath(destination, workdir)
        if relative.startswith(".."):
            raise Unsupported(f"COPY to {destination}: outside WORKDIR {workdir}")
        result.append((source, relative))
    return result


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    destination = sys.argv[1]
    try:
        with open(DOCKERFILE, encoding="utf-8") as dockerfile:
            workdir, copies = build_stage_copies(dockerfile.read())
        with open(DOCKERIGNORE, encoding="utf-8") as dockerignore:
            rules = dockerignore_rules(dockerignore.read())
        placed = plan(workdir, copies, context_files(rules))
    except Unsupported as err:
        sys.exit(f"build-context: {err} (this check models plain COPYs only; extend it)")
    for source, relative in placed:
        path = os.path.join(destination, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, source), path)
    tops = sorted({relative.split("/")[0] for _, relative in placed})
    print(f"build-context: {len(placed)} files under {workdir}: {' '.join(tops)}", file=sys.stderr)


if __name__ == "__main__":
    main()
