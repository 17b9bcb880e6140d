"""`provision viewer`: the published OHIF Viewer served on localhost with a generated config.

`build` fetches and checks the pinned `@ohif/app` package (or checks a local build), `server`
serves a build with an `app-config.js`, `session` puts them together for one blueprint
(`session.run`: the command as a library call behind a `provision.workflows.ui.Ui`).
"""
