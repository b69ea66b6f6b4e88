"""Test setup: headless plots, and the data directory beside the clone (../shared/data)."""
import os
from pathlib import Path

os.environ.setdefault('MPLBACKEND', 'Agg')
_shared = Path(__file__).resolve().parents[2] / 'shared' / 'data'
if 'D2L_OPTIM_DATA_DIR' not in os.environ and _shared.is_dir():
    os.environ['D2L_OPTIM_DATA_DIR'] = str(_shared)
