"""What `bench evaluate --model M` means without --prompts and --lang, and whether M can run here.

The language comes from the system (a PEA system takes one), the prompt sets are every set with that
language that suits the system's base; a system whose weights are neither zoo, a local folder nor cached
fails in one line naming what is missing and how to provide it.
"""

from __future__ import annotations

from bench.core.errors import BenchError, NotAvailableOffline


def system_languages(model: str) -> tuple[str, ...]:
    """The one language a system takes (a PEA system's), or a one-line error asking for --lang."""
    from bench.models.pipelines import get_system

    spec = get_system(model)
    if len(spec.languages) != 1:
        takes = ", ".join(spec.languages) if spec.languages else "every language"
        raise BenchError(f"model '{model}' takes {takes}; say which with --lang")
    return spec.languages


def prompt_sets_for(model: str, lang: str) -> tuple[str, ...]:
    """Every prompt set with `lang` that suits the system: a base's own sets (world-*) or the general ones."""
    from bench.models.bases import BASES
    from bench.models.pipelines import get_system
    from bench.prompts.load import list_prompt_sets, load_set_info

    base = get_system(model).base
    sets = [s for s in list_prompt_sets() if lang in load_set_info(s).languages]
    own = tuple(s for s in sets if base and s.startswith(f"{base}-"))
    general = tuple(s for s in sets if s.split("-")[0] not in BASES)
    found = own or general
    if not found:
        raise BenchError(f"no prompt set has '{lang}' prompts for model '{model}' (bench prompts list shows them)")
    return found


def evaluate_defaults(models: tuple[str, ...], prompts: str | None, lang: str | None) -> tuple[str, str]:
    """--prompts and --lang for `bench evaluate --model M` when left out; every system must be here first."""
    for model in models:  # fail in one line, before any prompt set or model is read
        require_system(model)
    langs = lang.replace(",", " ").split() if lang else sorted({x for m in models for x in system_languages(m)})
    sets = prompts.replace(",", " ").split() if prompts else list(dict.fromkeys(
        s for m in models for x in langs for s in prompt_sets_for(m, x)))
    return ",".join(sets), ",".join(langs)


def missing_weights(model: str) -> list[tuple[str, str | None]]:
    """(what, hub id) of every weight a system needs that is neither zoo, a local folder nor in the HF cache."""
    from bench.core.languages import get_language
    from bench.models import weights
    from bench.models.encoders import get_student_spec
    from bench.models.pipelines import get_system

    spec = get_system(model)
    out: list[tuple[str, str | None]] = []
    if spec.kind == "pea" and spec.checkpoint_dir() is None:
        if not (spec.released and weights.available_offline(spec.released, probe="README.md")):
            cached = f", released weights {spec.released} not cached" if spec.released else ""
            out.append((f"the adapter (no checkpoint {spec.checkpoint}{cached})", spec.released))
        if spec.released and spec.languages:  # the released adapter runs on the language's default student
            student = get_student_spec(get_language(spec.languages[0]).student_encoder)
            if student.loader is None and not weights.available_offline(student.model_id, probe="config.json"):
                out.append((f"student encoder {student.model_id}", student.model_id))
    for role in ("base", "model"):
        model_id = spec.weights().get(role)
        if model_id and not weights.available_offline(model_id):
            out.append((f"{role} {model_id}", model_id))
    return out


def require_system(model: str) -> None:
    """One line naming what a system lacks here and how to provide it; nothing when it can run."""
    from bench.models.pipelines import get_system

    spec = get_system(model)
    missing = missing_weights(model)
    if not missing:
        return
    how = []
    if spec.kind == "pea" and spec.checkpoint and spec.languages:
        how.append(f"train it with `bench train --lang {spec.languages[0]} --name {spec.checkpoint}`")
    hub = [hub_id for _, hub_id in missing if hub_id]
    if hub:
        how.append(f"`huggingface-cli download ID` for {', '.join(hub)} where the hub is reachable "
                   f"(or run with HF_HUB_OFFLINE=0)")
    raise NotAvailableOffline(f"model '{model}' cannot run here: missing {'; '.join(w for w, _ in missing)}; "
                              f"to provide it: {', or '.join(how) or 'pass local folders'}")
