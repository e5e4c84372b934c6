"""The hand-written subset XSDs: they compile, accept the samples, and agree with the
official ISO 20022 XSDs when those are available (NAZORG_ISO20022_XSD_DIR)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import xmlschema

from services.ingest.iso20022.messages import SPECS, XSD_DIR, MessageSpec, schema_for
from tests.unit.ingest.iso20022.support import FIXTURES

SAMPLES = {
    "camt.054.001.08": [
        "camt054_collections.xml",
        "camt054_returns.xml",
        "camt054_refund.xml",
        "camt054_transfers.xml",
    ],
    "camt.054.001.02": ["camt054_v02_returns.xml"],
    "pain.002.001.10": ["pain002_rejects.xml"],
    "pain.002.001.03": ["pain002_v03_rejects.xml"],
}


def test_every_subset_xsd_is_a_valid_schema_with_its_namespace() -> None:
    assert {path.name for path in XSD_DIR.glob("*.xsd")} == {spec.xsd_path.name for spec in SPECS}
    for spec in SPECS:
        schema = schema_for(spec)
        assert schema.validity == "valid"
        assert schema.target_namespace == spec.namespace


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_samples_are_valid_against_the_subset(spec: MessageSpec) -> None:
    for name in SAMPLES[spec.name]:
        schema_for(spec).validate(str(FIXTURES / name))


OFFICIAL = os.environ.get("NAZORG_ISO20022_XSD_DIR")


@pytest.mark.skipif(not OFFICIAL, reason="official ISO 20022 XSDs not available")
@pytest.mark.parametrize("message", sorted(SAMPLES))
def test_samples_are_valid_against_the_official_xsd(message: str) -> None:
    """Run with the official XSDs (e.g. camt.054.001.08.xsd) in NAZORG_ISO20022_XSD_DIR to
    check that the samples, and hence the subset's element order, follow the standard."""
    schema = xmlschema.XMLSchema(str(Path(str(OFFICIAL)) / f"{message}.xsd"))
    for name in SAMPLES[message]:
        schema.validate(str(FIXTURES / name))
