"""Publishing the course: reveal.js slides of the notebooks (:mod:`~course_gen.publish.slides`) and a static
course site (:mod:`~course_gen.publish.site`). ``python3 course.py slides`` and ``python3 course.py site OUT``."""
