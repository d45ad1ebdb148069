"""One or two worked examples per command, shown at the end of its --help (attached in bench.cli)."""

from __future__ import annotations

# Command path -> example command lines; commands whose docstring already has "Examples:" keep theirs.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "build-corpus": ("bench build-corpus --lang ko --source sample --translator none",
                     "bench build-corpus --lang zh --source world:2000 --translator none --no-language-id --name world-zh"),
    "train": ("bench train --lang zh --base world --encoder world --corpus world-zh --steps 600 --lr 2e-2",
              "bench train --lang zh --base sdxl --encoder chinese-clip --corpus corpora/zh-laion --steps 50000"),
    "fetch-images": ("bench fetch-images --corpus corpora/laion-ko-nllb --processes 8",),
    "generate": ("bench generate -m world-pea-zh -p world-general -l zh --samples 1 --steps 20 --scheduler ddim",
                 "bench generate -m pea-zh -p culture -l zh --dry-run"),
    "models": ("bench models", "bench models --json"),
    "languages": ("bench languages",),
    "judge-check": ("bench judge-check --lang ko --judge world-clip --pairs corpus:world-ko",
                    "bench judge-check --list"),
    "compare": ("bench compare RUN_A RUN_B --metrics world-accuracy",),
    "serve": ("bench serve", "bench serve --port 8765"),
    "refstats build": ("bench refstats build --name coco-512 --images COCO/val2014 --size 512",
                       "bench refstats build --name mine --images refs/ --tiny"),
    "refstats list": ("bench refstats list",),
    "human new-study": ("bench human new-study --prompts world-general --lang zh --systems world-en,world-pea-zh",),
    "human invite": ("bench human invite --study world-general-zh",),
    "human list": ("bench human list",),
    "human export": ("bench human export --study world-general-zh",),
    "human rank": ("bench human rank --study world-general-zh",),
    "human crowd": ("bench human crowd --study world-general-zh --annotators 20",),
    "prompts list": ("bench prompts list",),
    "prompts show": ("bench prompts show culture --lang ko -n 10", "bench prompts show general --lang zh --json"),
    "prompts validate": ("bench prompts validate", "bench prompts validate culture"),
    "prompts build-xm3600": ("bench prompts build-xm3600 --source floschne/xm3600",),
    "prompts build-coco-cn": ("bench prompts build-coco-cn --source COCO-CN/ --coco-captions captions_val2014.json",),
    "prompts context": ("bench prompts context",),
}


def epilog(path: str) -> str | None:
    """The examples block for a command path ('prompts show'), or None."""
    lines = EXAMPLES.get(path)
    if not lines:
        return None
    return "Examples:\n\n" + "\n\n".join(f"  {line}" for line in lines)


def attach(app, prefix: str = "") -> None:
    """Set each registered command's epilog (unless its docstring already shows examples), subgroups too."""
    for info in app.registered_commands:
        name = info.name or (info.callback.__name__.replace("_", "-") if info.callback else "")
        doc = (info.help or (info.callback.__doc__ if info.callback else "") or "")
        text = epilog(f"{prefix}{name}")
        if text and "Examples:" not in doc and not info.epilog:
            info.epilog = text
    for group in app.registered_groups:
        attach(group.typer_instance, f"{prefix}{group.name} ")
