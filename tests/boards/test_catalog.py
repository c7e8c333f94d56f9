"""Board catalog: the five boards with their parts and budgets, lookup by alias, clear errors."""
import pytest

from boards.catalog import BoardError, get_board, list_boards

PARTS = {"Pynq-Z1": "xc7z020clg400-1", "Pynq-Z2": "xc7z020clg400-1", "Ultra96-V2": "xczu3eg-sbva484-1-i",
         "ZCU104": "xczu7ev-ffvc1156-2-e", "KV260": "xck26-sfvc784-2LV-c"}


def test_catalog_has_the_supported_boards_with_their_parts():
    boards = {b.name: b for b in list_boards()}
    assert {n: b.part for n, b in boards.items()} == PARTS
    for b in boards.values():
        r = b.resources
        assert r.lut > 0 and r.ff == 2 * r.lut and r.bram18 > 0 and r.dsp > 0, b.name
        assert b.default_clock_mhz > 0 and b.shell.dma == "axi_dma"
        assert dict(b.sources).get("resources"), f"{b.name}: resource figures need a source"
    z7 = [b for b in boards.values() if b.ps == "Zynq-7000"]
    zu = [b for b in boards.values() if b.ps == "Zynq UltraScale+"]
    assert {b.name for b in z7} == {"Pynq-Z1", "Pynq-Z2"} and all(b.resources.uram == 0 for b in z7)
    assert all(b.shell.data_port == "S_AXI_HP0" and b.shell.dma_bits == 64 for b in z7)
    assert all(b.shell.data_port == "S_AXI_HP0_FPD" and b.shell.dma_bits == 128 for b in zu)


def test_xc7z020_budget_matches_vivado_report():
    r = get_board("Pynq-Z1").resources      # "Available" column of BNN-PYNQ's Vivado report for the xc7z020
    assert (r.lut, r.ff, r.bram18, r.dsp) == (53200, 106400, 280, 220)


@pytest.mark.parametrize("alias,name", [("pynq-z1", "Pynq-Z1"), ("PYNQ-Z2", "Pynq-Z2"), ("ultra96", "Ultra96-V2"),
                                        ("zcu104", "ZCU104"), ("Kria", "KV260"), (" kv260 ", "KV260")])
def test_lookup_by_name_or_alias(alias, name):
    assert get_board(alias).name == name


def test_unknown_board_lists_known_ones():
    with pytest.raises(BoardError) as e:
        get_board("zedboard")
    msg = str(e.value)
    assert "'zedboard'" in msg and all(n in msg for n in PARTS)


def test_budget_applies_margin():
    b = get_board("Pynq-Z1")
    assert b.budget(0.5).bram18 == 140 and b.budget(1.0).lut == 53200
    with pytest.raises(BoardError, match="margin"):
        b.budget(0)
