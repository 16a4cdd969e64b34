"""The Kubernetes test double lives in tests/k8s_double; make it importable for its unit tests."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
