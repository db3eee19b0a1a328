import { Command, CommanderError } from 'commander';

import { AppError } from '../errors.ts';
import { registerAdminCommands } from './admin-commands.ts';
import { registerGenerateCommand } from './generate-command.ts';
import { registerImportCommands } from './import-commands.ts';
import { registerServiceCommands } from './service-commands.ts';

const program = new Command('affiliate-mirror')
  .description("Keeps a copy of each affiliate's tracking data in a database the affiliate owns.")
  .showHelpAfterError()
  .exitOverride();

registerServiceCommands(program);
registerAdminCommands(program);
registerImportCommands(program);
registerGenerateCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error: unknown) {
  if (error instanceof CommanderError) process.exit(error.exitCode);

  const message = error instanceof AppError ? `${error.code}: ${error.message}` : String(error);
  process.stderr.write(`affiliate-mirror: ${message}\n`);
  process.exit(1);
}
