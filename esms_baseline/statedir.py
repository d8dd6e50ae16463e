"""Where esms-baseline keeps its state on the control machine (runs, inventories, known
hosts, history): one function every layer may import (it imports nothing of ours)."""

from __future__ import annotations

import os
from pathlib import Path


def default_state_dir() -> Path:
    """``$ESMS_STATE_DIR``, else ``$XDG_STATE_HOME/esms-baseline``, else
    ``~/.local/state/esms-baseline``."""
    env = os.environ.get("ESMS_STATE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "esms-baseline"
