"""Schemas for YAML in policies/ and prompts/, and `check_all` (`needtotalk policies check`).

Rules, card types, questions and prompts are data that developers change without touching code
(docs/architecture.md, "who uses it"). A typo there should fail in `needtotalk policies
check` and CI, not in front of a person who needs to talk. So every module that reads such a file
registers the pydantic model that validates it:

    register_policy_schema("policies/matching.yaml", MatchingPolicy, required=True)
    register_policy_schema("prompts/*/questions.yaml", QuestionBank)

Globs are matched against the path relative to the project ("policies/…" or "prompts/…").
`check_all` imports every module bot/features.py lists for POLICIES (so their registrations
run), then reads each YAML file under settings.policies_dir and settings.prompts_dir and
validates it with every schema whose glob matches. List your module in bot/features.py when
you register one.
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot import languages, yaml_files
from bot.config import Settings
from bot.features import POLICIES, modules_with

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class PolicySchema:
    glob: str
    model: type[BaseModel]
    required: bool


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One thing wrong with one file; `location` is a dotted path inside it, or ""."""

    path: str
    location: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: {self.location}" if self.location else self.path
        return f"{where}: {self.message}"


_SCHEMAS: list[PolicySchema] = []
# Checks that are not one file against one schema (kb/ front matter against card types, ...).
_EXTRA_CHECKS: dict[str, Callable[[Settings], list[PolicyProblem]]] = {}


def register_policy_schema(
    filename_glob: str, model: type[BaseModel], *, required: bool = False
) -> None:
    """Validate files matching `filename_glob` with `model`; `required`: at least one must exist.

    Registering the same glob and model twice (a module imported twice) is harmless.
    """
    for index, known in enumerate(_SCHEMAS):
        if known.glob == filename_glob and known.model is model:
            if required and not known.required:
                _SCHEMAS[index] = PolicySchema(filename_glob, model, required)
            return
    _SCHEMAS.append(PolicySchema(filename_glob, model, required))


def register_policy_check(name: str, check: Callable[[Settings], list[PolicyProblem]]) -> None:
    """Run `check(settings)` in `check_all` too; for rules that span files."""
    _EXTRA_CHECKS[name] = check


def registered_schemas() -> tuple[PolicySchema, ...]:
    return tuple(_SCHEMAS)


class PolicyFileError(ValueError):
    """A policy file that cannot be read or does not match its schema (path and reason)."""


def read_yaml(path: Path) -> Any:
    try:
        return yaml_files.read_yaml(path)
    except yaml.YAMLError as exc:
        raise PolicyFileError(f"{path}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise PolicyFileError(f"{path}: cannot read: {exc.strerror}") from exc


def load_policy_file(path: Path, model: type[ModelT]) -> ModelT:
    """Read one YAML file and validate it; errors name the file and the failing field."""
    data = read_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise PolicyFileError(f"{path}: {_first_errors(exc)}") from exc


def _first_errors(exc: ValidationError, limit: int = 5) -> str:
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
        for err in exc.errors()[:limit]
    ]
    return "; ".join(parts)


def import_policy_modules() -> list[PolicyProblem]:
    """Run the registrations of every part bot/features.py lists for POLICIES; a module that
    fails to import is a problem."""
    problems: list[PolicyProblem] = []
    for name in modules_with(POLICIES):
        try:
            importlib.import_module(name)
        except Exception as exc:  # a broken module must show up as a problem, not a traceback
            problems.append(PolicyProblem(name, "", f"cannot import: {exc}"))
    return problems


def _yaml_files(settings: Settings) -> Iterator[tuple[str, Path]]:
    for prefix, root in (("policies", settings.policies_dir), ("prompts", settings.prompts_dir)):
        if not root.is_dir():
            continue
        for path in sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")]):
            yield f"{prefix}/{path.relative_to(root).as_posix()}", path


def check_all(settings: Settings) -> list[PolicyProblem]:
    """Every problem in every policy and prompt file; an empty list means all is well. The
    language packs of `settings.prompts_dir` are the languages while it checks (a language code
    in a file is valid when that directory has its pack)."""
    try:
        languages.load_registry(settings.prompts_dir)
    except languages.LanguagePackError as exc:
        # Reported by the "language packs" check too; the files are checked with the
        # languages the process already has.
        return [PolicyProblem(str(settings.prompts_dir), "", str(exc)), *_check_all(settings)]
    with languages.using(settings.prompts_dir):
        return _check_all(settings)


def _check_all(settings: Settings) -> list[PolicyProblem]:
    problems = import_policy_modules()
    matched_globs: set[str] = set()
    for relative, path in _yaml_files(settings):
        schemas = [s for s in _SCHEMAS if fnmatch.fnmatch(relative, s.glob)]
        try:
            data = read_yaml(path)
        except PolicyFileError as exc:
            problems.append(PolicyProblem(relative, "", str(exc).split(": ", 1)[-1]))
            continue
        for schema in schemas:
            matched_globs.add(schema.glob)
            try:
                schema.model.model_validate(data)
            except ValidationError as exc:
                for err in exc.errors():
                    location = ".".join(str(p) for p in err["loc"])
                    problems.append(PolicyProblem(relative, location, err["msg"]))
    for schema in _SCHEMAS:
        if schema.required and schema.glob not in matched_globs:
            problems.append(PolicyProblem(schema.glob, "", "required file is missing"))
    for name, check in _EXTRA_CHECKS.items():
        try:
            problems.extend(check(settings))
        except Exception as exc:  # report, so one broken check cannot hide the others
            problems.append(PolicyProblem(name, "", f"check failed: {exc}"))
    return problems


def checked_files(settings: Settings) -> list[tuple[str, list[str]]]:
    """Each YAML file with the names of the schemas that apply to it (for the command's report)."""
    import_policy_modules()
    return [
        (relative, [s.model.__name__ for s in _SCHEMAS if fnmatch.fnmatch(relative, s.glob)])
        for relative, _ in _yaml_files(settings)
    ]
