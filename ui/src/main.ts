import { boot } from './app';
import { tauriBackend } from './backend';
import './styles.css';

void boot(document, tauriBackend);
