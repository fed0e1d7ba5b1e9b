import type { Command } from '../command.js';
import { configCheckCommand } from './config-check.js';
import { migrateCommand } from './migrate.js';

export const COMMANDS: readonly Command[] = [migrateCommand, configCheckCommand];
