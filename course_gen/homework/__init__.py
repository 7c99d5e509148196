"""Homework: the student edition of the notebooks, and grading a class's submissions.

- :mod:`course_gen.homework.editions`: nbgrader markers, the student edition, the cells that grade;
- :mod:`course_gen.homework.sandbox`: runs one submission in its own process, contained;
- :mod:`course_gen.homework.grading`: grades a folder of submissions into ``grades.csv``.

Command line (``python3 course.py student OUT`` and ``python3 course.py grade SUBMISSIONS`` call it)::

    python -m course_gen.homework student OUT
    python -m course_gen.homework grade SUBMISSIONS [--out DIR] [--timeout S] [--jobs N]
"""
