"""The light half of each study kind: what the shared code asks of it, without torch or numba.

``latentopt.studies.hooks.<kind>`` holds the kind's config check (``check``), its rules' resource
estimators by step (``ESTIMATES``) and its rules' input and params functions, each
``function(wc, studies, repo)``: the job's wildcards (``wc.study``, ``wc.run``, ...), the validated
studies of the config and the repository root (against which files named in the config are
resolved). The kind's record in :mod:`latentopt.studies` names the first two; the kind's rule
file imports the others. A hooks module imports no other kind's (``docs/developing.md``).
"""
