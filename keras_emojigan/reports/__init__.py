"""Reports: the statistics, Markdown tables and figures that compare, ship and the experiment
scripts write (``stats``, ``tables``, ``figures``). Plain functions of numbers and rows; nothing
here trains or measures."""
