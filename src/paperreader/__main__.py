from paperreader.cli import main

raise SystemExit(main())
