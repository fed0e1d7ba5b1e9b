import type { Command } from '../command.js';
import { clientCommands } from './clients.js';
import { configCheckCommand } from './config-check.js';
import { dbCommands } from './db.js';
import { defenseCommands } from './defense.js';
import { keyCommands } from './keys.js';
import { migrateCommand } from './migrate.js';
import { resourceCommands } from './resources.js';
import { userCommands } from './users.js';

export const COMMANDS: readonly Command[] = [migrateCommand, configCheckCommand, ...dbCommands, ...clientCommands, ...resourceCommands, ...userCommands, ...defenseCommands, ...keyCommands];
