from __future__ import annotations

from pathlib import Path

import pytest

from fusiondesk.service.replies.domain import Domain
from tests.unit.service.replies.domains import DOMAIN_V2, write


@pytest.fixture
def domain(tmp_path: Path) -> Domain:
    return Domain.load(write(tmp_path, DOMAIN_V2))
