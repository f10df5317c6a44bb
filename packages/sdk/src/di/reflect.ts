/**
 * Loads the `Reflect.metadata` polyfill that tsyringe requires before it is imported. Every DI
 * module imports this file first; it is the SDK's only module with a side effect (see
 * `sideEffects` in package.json).
 *
 * @module
 */
import 'reflect-metadata';
