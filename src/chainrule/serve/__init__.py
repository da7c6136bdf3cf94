"""``chainrule serve``: the playground in the browser.

Type an expression and see its graph with values and gradients, step through
the forward and the backward pass with the worked solution's lines, check an
answer, move the sigmoid chain's weights, draw a digit for the network.

- :mod:`~chainrule.serve.app`: the Starlette application, its origin checks and limits;
- :mod:`~chainrule.serve.handlers`: what each endpoint computes (the CLI's own functions);
- :mod:`~chainrule.serve.workers`: worker processes with a time budget;
- :mod:`~chainrule.serve.digits`: the digit network, from a checkpoint or trained on first use;
- :mod:`~chainrule.serve.bodies`: reading and checking request bodies;
- ``static/``: the page, its script and style (served by the package, no CDN).
"""
