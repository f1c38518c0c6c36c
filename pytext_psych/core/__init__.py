"""The foundation every layer stands on: validated settings (:mod:`.settings`), writing
files and folders without ever touching what the package did not write (:mod:`.outputs`),
the encoders known by name with their pinned digests (:mod:`.catalog`), assembling and
verifying them in the user's cache (:mod:`.assembly`), what a model bundle says about itself
as typed records (:mod:`.description`), how long texts are read in sliding windows
(:mod:`.windows`) and the package's version.

May import: nothing. (Only the standard library, numpy, platformdirs and filelock.)
"""
