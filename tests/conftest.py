import os
import sys

_TESTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(_TESTS))
sys.path.insert(0, _TESTS)
# helper modules that live next to the tests of one area (e.g. control_flow_cases.py)
for _d in sorted(os.listdir(_TESTS)):
    if os.path.isdir(os.path.join(_TESTS, _d)) and not _d.startswith(("_", ".")):
        sys.path.append(os.path.join(_TESTS, _d))
