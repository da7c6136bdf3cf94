"""``chainrule report``: the worked solution of the exercise sheet, computed end to end.

The pieces, one idea each:

- :mod:`~chainrule.report.document`: the report as data (headings, math, tables, figures);
- :mod:`~chainrule.report.graphs`, :mod:`~chainrule.report.vanishing`,
  :mod:`~chainrule.report.digits`, :mod:`~chainrule.report.answers`: the content of the
  sheet's sections, built from the rest of chainrule;
- :mod:`~chainrule.report.parts`, :mod:`~chainrule.report.cache`,
  :mod:`~chainrule.report.progress`: running the content in cached, isolated parts;
- :mod:`~chainrule.report.sections`: the plan, in the sheet's order;
- :mod:`~chainrule.report.html`, :mod:`~chainrule.report.markdown`,
  :mod:`~chainrule.report.pdf`, :mod:`~chainrule.report.mathsvg`: the writers;
- :mod:`~chainrule.report.build`: all of it, for the command.
"""
