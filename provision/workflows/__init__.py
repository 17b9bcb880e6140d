"""The commands as library calls: each builds its run context, plans, confirms and applies behind
a `Ui` (what to print, how to ask), so the CLI only parses options, calls one, and prints.

Modules: `ui` (the Ui protocol and how a run reaches Google), `sequence` (plan -> confirm ->
lease -> plan again if another run held it -> apply, the one sequence every writing command
runs), `leasing` (the lease around the writes), and one module per command; `provision viewer`'s
is the `provision.viewer` package, in this layer too.
"""
