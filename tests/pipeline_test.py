"""Discovery of inputs (files, folders, archives), event splits, header reading."""


import tarfile

import pytest

from data_prep import knet, pipeline


def make_archive(path, files, mode="w:gz"):
  with tarfile.open(path, mode) as tar:
    for f in files:
      tar.add(f, arcname=f"event/{f.name}")


def test_discover_groups_components_by_station(data_dir):
  groups, problems = pipeline.discover(data_dir)
  assert not problems
  keys = [g.key for g in groups]
  # 9 + 2 K-NET stations, 2 KiK-net stations (borehole and surface share a stem).
  assert len(groups) == 13 and "AOM0011801241951" in keys
  aom = groups[keys.index("AOM0011801241951")]
  assert [s.path.rsplit(".", 1)[1] for s in aom.sources] == ["EW", "NS", "UD"]
  kik = groups[keys.index("NGNH311106302345")]
  assert len(kik.sources) == 6


def test_archive_members_read_like_files(tmp_path, data_dir):
  files = sorted((data_dir / "knet/usb000syza").iterdir())
  arc = tmp_path / "20141231234900.knt.tar.gz"
  make_archive(arc, files)
  groups, problems = pipeline.discover([str(arc)])
  assert not problems and len(groups) == 2 and all(s.member for g in groups for s in g.sources)
  rec = groups[0].sources[0].read()
  direct = knet.read_knet_file(data_dir / "knet/usb000syza" / rec.path.rsplit("/", 1)[1])
  assert rec.station == direct.station and (rec.accel_ms2 == direct.accel_ms2).all()
  assert rec.path.startswith(str(arc) + ":")


def test_corrupt_archive_is_reported_not_fatal(tmp_path, data_dir):
  good = tmp_path / "good"
  good.mkdir()
  for f in (data_dir / "knet/usb000syza").iterdir():
    (good / f.name).write_bytes(f.read_bytes())
  (good / "broken.tar.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
  groups, problems = pipeline.discover([str(good)])
  assert len(groups) == 2
  assert len(problems) == 1 and "broken.tar.gz" in problems[0][0] and "corrupt" in problems[0][1]


def test_discover_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match="does not exist"):
    pipeline.discover([str(tmp_path / "missing")])
  with pytest.raises(ValueError, match="no K-NET/KiK-net files"):
    pipeline.discover([str(tmp_path)])


def test_assign_splits_by_event_deterministic():
  mags = {f"ev{i:03d}": m for i, m in enumerate([3.6, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 7.6, 8.0] * 3)}
  a = pipeline.assign_splits(mags, seed=0)
  assert a == pipeline.assign_splits(dict(reversed(list(mags.items()))), seed=0)
  assert a != pipeline.assign_splits(mags, seed=1)
  for eid, m in mags.items():
    if m < 4.5:
      assert a[eid] == "ood_low"
    elif m > 7.5:
      assert a[eid] == "ood_high"
    else:
      assert a[eid] in ("train", "validation", "test")
  counts = {s: sum(v == s for v in a.values()) for s in pipeline.SPLITS}
  assert counts == {"train": 17, "validation": 2, "test": 2, "ood_low": 6, "ood_high": 6}
  with pytest.raises(ValueError, match="split fractions"):
    pipeline.assign_splits(mags, 0, fractions=(0.5, 0.5, 0.5))


def test_event_header_matches_full_read(data_dir):
  for p in sorted(data_dir.rglob("*.NS*")):
    eid, mag = knet.read_event_header(str(p), str(p))
    r = knet.read_knet_file(p)
    assert (eid, mag) == (r.event_id, r.magnitude)


def test_bad_header_names_the_file(tmp_path):
  bad = tmp_path / "X.EW"
  bad.write_text("Origin Time       2018/01/24 19:51:00\nLat.              abc\n")
  with pytest.raises(knet.KnetFormatError, match="X.EW: bad K-NET header"):
    knet.read_event_header(str(bad), str(bad))



def test_event_magnitude_is_the_stations_most_common_and_disagreements_are_listed():
  headers = {"a": ("E1", 6.2), "b": ("E1", 6.2), "c": ("E1", 7.9), "d": ("E2", 5.0), "e": ("E3", 4.0), "f": ("E3", 4.4)}
  mags, disagree = pipeline.event_magnitudes(headers)
  assert mags == {"E1": 6.2, "E2": 5.0, "E3": pytest.approx(4.2)}  # A tie: the median of the tied values.
  assert disagree == [{"event_id": "E1", "magnitude": 6.2, "headers": {"6.2": 2, "7.9": 1}},
                      {"event_id": "E3", "magnitude": pytest.approx(4.2), "headers": {"4": 1, "4.4": 1}}]
