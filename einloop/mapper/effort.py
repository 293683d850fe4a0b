"""A work budget for reproducible answers: ``--effort N`` searches at most N groups, lowest bounds first.

A time limit makes the answer depend on the machine's speed. A budget of groups (a dataplacement and
a spatial choice each) does not: the tasks are sorted by their lowest group bound (a fixed order,
ties broken by a fixed key), the first tasks up to N groups are searched whole, and only their
mappings (and the seed's, which runs without a time limit) enter the shared best. Each task's best
is then the same whatever the other tasks found first, so the answer is the same on any machine,
with any number of workers.
"""
from __future__ import annotations


def within_effort(tasks: list, effort: int | None) -> tuple[list, list]:
    """(the tasks to search, those left out): whole tasks in order while their groups add up to at most
    ``effort`` (always the first task); all of them without a budget."""
    if effort is None:
        return tasks, []
    used = 0
    for k, task in enumerate(tasks):
        used += len(task[1])
        if used > effort and k > 0:
            return tasks[:k], tasks[k:]
    return tasks, []
