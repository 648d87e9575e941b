import { render } from 'preact';
import { App } from './app';
import './styles.css';

const appRoot = document.getElementById('app');
if (appRoot) {
  render(<App />, appRoot);
}
