"""``chainrule handin``: the submission the sheet asks for, in one zip.

- :mod:`~chainrule.handin.build`: the checks, the report with the group block, the zip;
- :mod:`~chainrule.handin.notebook`: exercise_1.ipynb, executed by nbclient;
- :mod:`~chainrule.handin.archive`: the zip, written atomically;
- :mod:`~chainrule.handin.scripts`: the plain scripts that reproduce sections 1.2 to 1.4.
"""
