"""Forward hooks on the UNet's blocks: the feature maps the feature-distillation loss compares."""

from __future__ import annotations

from typing import Any


def feature_modules(unet: Any) -> list[Any]:
    """The blocks whose outputs the feature loss compares: every down block, the mid block, every up block."""
    return [*unet.down_blocks, unet.mid_block, *unet.up_blocks]


class FeatureTap:
    """Forward hooks that record each block's output (a down block's first output) while enabled."""

    def __init__(self, modules: list[Any]) -> None:
        self.outputs: list[Any] = []
        self.enabled = False
        self.handles = [m.register_forward_hook(self._hook) for m in modules]

    def _hook(self, _module, _inputs, output) -> None:
        if self.enabled:
            self.outputs.append(output[0] if isinstance(output, tuple) else output)

    def run(self, fn, *args, **kwargs):
        """Call fn with recording on; returns (fn's result, recorded outputs)."""
        self.outputs, self.enabled = [], True
        try:
            result = fn(*args, **kwargs)
        finally:
            self.enabled = False
        return result, self.outputs

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
