"""``chainrule exercise``: fresh variants of the sheet's section 1.2, with answer keys.

The pieces, one idea each:

- :mod:`~chainrule.exercise.options`: what is asked, checked (and whether it can be met);
- :mod:`~chainrule.exercise.expressions`: a graph written back as one expression, plain and
  LaTeX, and its fingerprint up to renaming and commuting;
- :mod:`~chainrule.exercise.generator`: seeded variants, each with a point worked by hand;
- :mod:`~chainrule.exercise.key`: ``key.json``, the answers ``chainrule check --key`` grades by;
- :mod:`~chainrule.exercise.documents`: the exercises and worked solutions as report documents;
- :mod:`~chainrule.exercise.moodle`: ``moodle.xml``, one cloze question per variant;
- :mod:`~chainrule.exercise.build`: all the files, for the command.

The package sits above :mod:`chainrule.report` in the import layers: it writes its
HTML, Markdown and PDF with the report's writers.
"""
