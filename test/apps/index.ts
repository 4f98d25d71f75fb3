// Every demo app the shared integration test (test/apps.test.ts) runs. Each test/apps/<lang>.ts exports its AppSpec.
import type { AppSpec } from '../harness/app-spec.js';
import { goApp } from './go.js';
import { javaApp } from './java.js';
import { nodeApp } from './node.js';
import { pythonApp } from './python.js';

export const allApps: AppSpec[] = [goApp, javaApp, pythonApp, nodeApp];
