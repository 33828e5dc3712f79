"""The job's progress line (lpr_ray.pipeline.progress.progress_line), on hand-made counts."""

from lpr_ray.pipeline.progress import ProgressCounter, progress_line


def test_line_with_a_known_total():
    assert progress_line("r1", 12_800, 50_000, 10.0) == (
        "run r1: 12,800 / 50,000 objects (25%), 1,280 plates/s, about 29 s left")


def test_done_has_no_time_left_and_never_passes_the_total():
    # a lost batch read again one object per task counts its objects twice
    assert progress_line("r1", 5_100, 5_000, 2.0) == "run r1: 5,000 / 5,000 objects (100%), 2,500 plates/s"


def test_nothing_done_yet_and_unknown_totals():
    assert progress_line("r1", 0, 300, 1.0) == "run r1: 0 / 300 objects (0%), 0 plates/s"
    assert progress_line("m", 1_000, None, 4.0) == "run m: 1,000 objects, 250 plates/s"
    assert progress_line("z", 0, 0, 0.0) == "run z: 0 / 0 objects (100%), 0 plates/s"


def test_counter_adds_what_the_actors_report():
    counter = ProgressCounter()
    counter.add(128)
    counter.add(72)
    assert counter.value() == 200
