import { invoke } from '@tauri-apps/api/core';
import { boot } from './app';
import './styles.css';

void boot(document, invoke);
