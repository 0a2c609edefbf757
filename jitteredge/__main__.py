from jitteredge.cli import main

raise SystemExit(main())
