"""The articles' headline lessons, each measured here as two numbers that differ in one thing.

``LESSONS`` names, for each lesson, the two numbers a notebook records for it (``results.record``,
by those exact names) and the one condition (``helpers.conditions``) its two sides may differ in.
``lesson_rows`` finds both numbers among the recorded results and refuses sides that differ in more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from helpers.tables import format_table


@dataclass(frozen=True)
class Lesson:
    """A headline lesson of the articles the course is built from, and the two numbers measured for it.

    ``shown`` formats the pair: ``{0}`` and ``{1}`` are the numbers named in ``measured``, ``{ratio}``
    is the second over the first. Its row belongs to the notebook that recorded the later of the two.
    ``varies`` names the one condition (``helpers.conditions``) its two sides may differ in; when
    both sides recorded their conditions, a difference in anything else is refused.
    """

    name: str
    articles: str
    measured: tuple[str, str]
    shown: str
    varies: str


class UnlikeSides(ValueError):
    """A lesson's two measurements differ in more than the one condition the lesson is about."""


LESSONS = (
    Lesson(
        "shuffling: validation accuracy, a class-sorted list through a small buffer, then a full shuffle",
        "about ten points of accuracy",
        ("val_accuracy_sorted_small_buffer", "val_accuracy_full_shuffle"),
        "{0:.2f} → {1:.2f}",
        "shuffle",
    ),
    Lesson(
        "a per-image label op, a demonstration at a TPU v3-8 host's demand: images/s, input only, of the "
        "same map computing each label with string ops, then passing the label from Python",
        "the label op took 73 % of the step",
        ("images_per_second_string_labels", "images_per_second_python_labels"),
        "{0:,.0f} → {1:,.0f} ({ratio:.1f}×)",
        "label op",
    ),
    Lesson(
        "input scale: validation accuracy of one model trained on images in 0–255, the same validation "
        "images given in 0–255, then divided by 255",
        "it expects 0–255; dividing by 255 hurts",
        ("val_accuracy_0_255", "val_accuracy_div255"),
        "{0:.2f} → {1:.2f}",
        "input scale",
    ),
    Lesson(
        "a fair baseline under `fit`, augmenting alike: images/s, ImageDataGenerator with worker "
        "threads, then tf.data with the same transformations as Keras layers",
        "tf.data 2.5× (a GPU, MobileNet, per epoch)",
        ("images_per_second_idg_workers", "images_per_second_tf_data_fit"),
        "{0:,.0f} → {1:,.0f} ({ratio:.2f}×)",
        "loader",
    ),
    Lesson(
        "the same fair baseline, neither augmenting: images/s, ImageDataGenerator with worker "
        "threads, then tf.data",
        "tf.data 2.5× (a GPU, MobileNet, per epoch)",
        ("images_per_second_idg_workers_unaugmented", "images_per_second_tf_data_fit_unaugmented"),
        "{0:,.0f} → {1:,.0f} ({ratio:.2f}×)",
        "loader",
    ),
    Lesson(
        "a warm file cache: input-only images/s of one augmented tf.data pipeline, without the cache, "
        "then with it",
        "tf.data with a file cache 4.14× ImageDataGenerator (another baseline)",
        ("images_per_second_augmented_uncached", "images_per_second_augmented_cached"),
        "{0:,.0f} → {1:,.0f} ({ratio:.1f}×)",
        "cache",
    ),
    Lesson(
        "cache memory: MiB a process's peak grows per MiB of decoded images cached, a file cache, "
        "then an in-memory cache",
        "an in-memory cache crashes past RAM; an 18 GB folder made a 90 GB cache file",
        ("file_cache_growth", "in_memory_cache_growth"),
        "{0:.2f} → {1:.2f}",
        "cache",
    ),
)
# Every number a lesson reads, by the name a notebook records it under.
LESSON_KEYS = frozenset(name for lesson in LESSONS for name in lesson.measured)
LESSON_COLUMNS = {
    "notebook": "notebook",
    "lesson": "lesson",
    "articles": "the articles",
    "measured": "measured here",
    "differs_in": "its sides differ in",
}


def lesson_rows(results: Mapping[str, dict], lessons: Sequence[Lesson] = LESSONS) -> list[dict]:
    """A row for each lesson whose two numbers were both recorded, in course order.

    Raises ``UnlikeSides`` when both sides recorded conditions that differ in more than the
    lesson's ``varies``; a row whose sides recorded none says its conditions were not checked.
    """
    rows = []
    for lesson in lessons:
        found = {
            name: (notebook, result["numbers"][name], result.get("conditions", {}).get(name))
            for notebook, result in results.items()
            for name in lesson.measured
            if name in result["numbers"]
        }
        if len(found) == len(lesson.measured):
            (_, first, before), (_, second, after) = (found[name] for name in lesson.measured)
            rows.append(
                {
                    "notebook": max(notebook for notebook, _, _ in found.values()),
                    "lesson": lesson.name,
                    "articles": lesson.articles,
                    "measured": lesson.shown.format(
                        first, second, ratio=second / first if first else 0
                    ),
                    "differs_in": _differs_in(lesson, before, after),
                }
            )
    return sorted(rows, key=lambda row: row["notebook"])


def _differs_in(lesson: Lesson, before: Mapping | None, after: Mapping | None) -> str:
    """The lesson's ``varies``, checked against both sides' conditions when they were recorded."""
    if before is None or after is None:
        return f"{lesson.varies} (not checked)"
    varies = lesson.varies.replace(" ", "_")  # the condition's name, as a keyword gives it
    if varies in before and before[varies] == after.get(varies):
        raise UnlikeSides(
            f"{lesson.name}: its sides should differ in {lesson.varies}, but both record "
            f"{before[varies]!r}"
        )
    unlike = sorted(
        key
        for key in before.keys() | after.keys()
        if key != varies and before.get(key) != after.get(key)
    )
    if unlike:
        raise UnlikeSides(
            f"{lesson.name}: its sides should differ only in {lesson.varies}, but they differ in "
            + "; ".join(f"{key} ({before.get(key)!r} against {after.get(key)!r})" for key in unlike)
        )
    alike = sorted(key.replace("_", " ") for key in before.keys() - {varies})
    return f"{lesson.varies} only: " + ", ".join(alike) + " alike"


def lesson_table(rows: Sequence[Mapping]) -> str:
    """The articles' lessons beside what the notebooks measured, as Markdown."""
    return format_table(rows, LESSON_COLUMNS, markdown=True) if rows else "No lesson measured yet."
