from reluregions.cli.main import main

raise SystemExit(main())
