"""What every stage shares: file layout, atomic writes, the stage CLI, import closures, records, CPU facts, plotting."""
